"""Model-based testing of the whole payment path (RELIABILITY.md, test machinery #4; R9 in part).

A hypothesis RuleBasedStateMachine drives the real use cases, the real database and the real
sandbox bank logic (in process, sharing one controllable clock), with fault injection and
simulated crashes, and after every step checks the hub against a pure reference model:

- the trial balance is zero in every currency;
- the ledger balances equal the model's, which are derived from order states alone
  (available = opening − reserved − settled; held = reserved; outgoing = settled);
- no payment is booked twice at the bank; every settled order is claimed by exactly one match;
- every order's event chain verifies (so every state change went through the transition table).
At the end, with faults off, the worker drains: no order is left in flight and the bank's balance
equals the opening balance minus what the hub settled. Hypothesis prints the failing rule sequence;
`--hypothesis-seed=N` replays a run.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from sandbox_bank.bank import SandboxBank
from sandbox_bank.faults import Faults
from tests.support.inprocess_bank import InProcessBankConnector
from tests.support.orders import MAKER, checker, install_policy, limit_policy
from tests.support.vault import funds_codes
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.migrate import upgrade
from yinqi.adapters.db.tables.reconciliation import reconciliation_claims
from yinqi.application import approvals
from yinqi.application import orders as order_cases
from yinqi.application.accounts import onboard_account
from yinqi.bootstrap import build_hub
from yinqi.config import Settings
from yinqi.domain.identifiers import Iban
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.lifecycle import FUNDS_RESERVED, OrderState
from yinqi.domain.parties import AccountRef
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.workers.hub_worker import HubWorker
from yinqi.testing.failpoints import ENV, FailpointTriggered

PAYER = "DE89370400440532013000"
PAYEE = "FR7630006000011234567890189"
OPENING = 2_000_000  # 20,000.00 EUR
AUTO_LIMIT = 300_000  # 3,000.00 EUR
IN_FLIGHT = {OrderState.APPROVED, OrderState.RELEASED, OrderState.SENT, OrderState.ACCEPTED}
CRASH_POINTS = ["outbox.dispatch.before_mark_sent", "bank.submit.after_http_200"]


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: int) -> None:
        self.at += timedelta(seconds=seconds)


class PaymentHubMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="yinqi-model-"))
        self.clock = FakeClock()
        settings_ = Settings(home=self.tmp, db=f"sqlite:///{self.tmp / 'hub.db'}", auto_release=True)
        self.hub = build_hub(settings_, clock=self.clock)
        upgrade(self.hub.engine)
        self.bank = SandboxBank(make_engine(f"sqlite:///{self.tmp / 'bank.db'}"), clock=self.clock.now)
        self.bank.open_account(iban=PAYER, other_id=None, currency="EUR", balance="20000.00", name="Payer")
        self.hub.connectors["SANDBOX"] = InProcessBankConnector(self.bank)
        self.worker = HubWorker.for_hub(self.hub)
        with self.hub.uow() as uow:
            onboard_account(uow=uow, clock=self.clock, actor="model", account=AccountRef(iban=Iban.parse(PAYER)),
                            currency="EUR", opening_balance=Money(OPENING, "EUR"), name="Payer")
        install_policy(self.hub.uow, limit_policy(AUTO_LIMIT), clock=self.clock)
        self.amounts: dict[str, int] = {}
        self.serial = 0

    def teardown(self) -> None:
        os.environ.pop(ENV, None)
        if hasattr(self, "hub"):
            self.hub.engine.dispose()
            self.bank.close()

    # --- what people and banks do -------------------------------------------------------------
    @rule(minor=st.integers(1, 600_000))
    def create_order(self, minor: int) -> None:
        assume(minor not in self.amounts.values())  # same payee, amount and date would be held as a duplicate
        self.serial += 1
        command = CreateOrder(
            company_id="C1", serial=f"M-{self.serial}",
            payer=PayerInput(name="Payer", account=AccountInput(iban=PAYER), currency="EUR"),
            payee=PayeeInput(name="Payee", account=AccountInput(iban=PAYEE), country="FR"),
            amount=Money(minor, "EUR").format(), currency="EUR",
            requested_execution_date=self.clock.now().date())
        expected_refusal = minor <= AUTO_LIMIT and minor > self.model_available()
        try:
            with self.hub.uow() as uow:
                order = order_cases.create_order(uow=uow, clock=self.clock, principal=MAKER, command=command,
                                                 auto_release=True)
        except DomainError as exc:
            assert expected_refusal and exc.code == "INSUFFICIENT_FUNDS", exc
            return
        assert not expected_refusal, "created an auto-approved order the funds do not cover"
        self.amounts[order.id] = minor

    @precondition(lambda self: bool(self.pending()))
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.pending())))
        covered = self.amounts[order_id] <= self.model_available()
        try:
            with self.hub.uow() as uow:
                approvals.approve_order(uow=uow, clock=self.clock, principal=checker(self.clock), order_id=order_id,
                                        auto_release=True)
        except DomainError as exc:
            assert not covered and exc.code == "INSUFFICIENT_FUNDS", exc
            return
        assert covered

    @precondition(lambda self: bool(self.pending()))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.pending())))
        with self.hub.uow() as uow:
            order_cases.cancel_order(uow=uow, clock=self.clock, principal=MAKER, order_id=order_id,
                                     reason="no longer due")

    @rule()
    def worker_pass(self) -> None:
        self.worker.run_once()
        self.clock.advance(20)

    @rule(point=st.sampled_from(CRASH_POINTS))
    def crash_during_a_worker_pass(self, point: str) -> None:
        """The pass dies at `point`; its open transaction is lost, as in kill -9."""
        os.environ[ENV] = f"{point}=raise"
        try:
            self.worker.run_once()
        except FailpointTriggered:
            pass
        finally:
            os.environ.pop(ENV, None)
        self.clock.advance(20)

    @rule(reject_rate=st.sampled_from([0.0, 0.0, 0.5, 1.0]), drop=st.integers(0, 2), outage=st.booleans(),
          seed=st.integers(0, 5))
    def set_bank_faults(self, reject_rate: float, drop: int, outage: bool, seed: int) -> None:
        self.bank.faults.replace(Faults(reject_rate=reject_rate, drop_response_after_processing=drop,
                                        outage=outage, seed=seed))

    @rule(seconds=st.sampled_from([5, 60, 600]))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    # --- the reference model ------------------------------------------------------------------
    def states(self) -> dict[str, OrderState]:
        with self.hub.uow() as uow:
            return {o.id: o.state for o in uow.orders.list(limit=500)}

    def pending(self) -> list[str]:
        return [i for i, s in self.states().items() if s is OrderState.PENDING_APPROVAL]

    def model_balances(self) -> tuple[int, int, int]:
        states = self.states()
        reserved = sum(self.amounts[i] for i, s in states.items() if s in FUNDS_RESERVED)
        settled = sum(self.amounts[i] for i, s in states.items() if s is OrderState.SETTLED)
        return OPENING - reserved - settled, reserved, settled

    def model_available(self) -> int:
        return self.model_balances()[0]

    @invariant()
    def ledger_agrees_with_the_model(self) -> None:
        if not hasattr(self, "hub"):
            return
        with self.hub.uow() as uow:
            trial = uow.ledger.trial_balance()
            balances = {code: m.minor for code, m in uow.ledger.balances().items()}
        assert all(v == 0 for v in trial.values()), trial
        available, held, settled = self.model_balances()
        available_code, held_code = funds_codes(PAYER, self.hub.vault)
        assert balances.get(available_code, 0) == available
        assert balances.get(held_code, 0) == held
        assert balances.get("payments:outgoing:EUR", 0) == settled

    @invariant()
    def nothing_is_booked_twice(self) -> None:
        if not hasattr(self, "hub"):
            return
        assert all(n == 1 for n in self.bank.counts()["booked"].values())
        with self.hub.engine.connect() as conn:
            claimed = conn.execute(select(reconciliation_claims.c.ref)
                                   .where(reconciliation_claims.c.kind == "order")).scalars().all()
        settled = {i for i, s in self.states().items() if s is OrderState.SETTLED}
        assert len(claimed) == len(set(claimed)) and set(claimed) == settled  # settled through one match each

    @invariant()
    def every_event_chain_verifies(self) -> None:
        if not hasattr(self, "hub"):
            return
        with self.hub.uow() as uow:
            for order_id in self.amounts:
                uow.orders.events(order_id)  # raises ORDER_CHAIN_BROKEN if not

    def drain(self) -> None:
        self.bank.faults.replace(Faults())
        for _ in range(12):
            self.clock.advance(600)
            self.worker.run_once()
        states = self.states()
        stuck = {i: s for i, s in states.items() if s in IN_FLIGHT}
        assert not stuck, f"left in flight after draining: {stuck}"
        settled = sum(self.amounts[i] for i, s in states.items() if s is OrderState.SETTLED)
        assert self.bank.account(PAYER).balance_minor == OPENING - settled
        for state in sorted({s.value for s in states.values()}):
            event(f"an order ended {state}")


class DrainingMachine(PaymentHubMachine):
    def teardown(self) -> None:
        try:
            if hasattr(self, "hub"):
                self.drain()
                self.ledger_agrees_with_the_model()
        finally:
            super().teardown()


TestPaymentHubModel = DrainingMachine.TestCase
TestPaymentHubModel.settings = settings(
    max_examples=int(os.environ.get("YINQI_MODEL_EXAMPLES", "60")), stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], print_blob=True)
pytestmark = pytest.mark.slow
