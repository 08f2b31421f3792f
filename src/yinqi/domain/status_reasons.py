"""The ISO 20022 external status reason codes (ExternalStatusReason1Code) in plain words.

A bank that rejects a payment in a pain.002 says why with a four-character code (`AC04`). The
code list is published by ISO 20022 as an external code set (it changes more often than the
schemas). This table holds the codes banks actually send for credit transfers, each with its
official name and an explanation a treasurer can act on. It is data, not logic: an unknown code
still renders (as itself, marked unknown), because a new code from a bank must never hide the
rejection it carries.

>>> describe("AM04").name
'InsufficientFunds'
>>> describe("ZZ99").known
False
>>> plain_words("AC04")
'AC04 ClosedAccountNumber: the payee account is closed. Ask the payee for their current account.'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StatusReason:
    code: str
    name: str  # the ISO 20022 name, e.g. "InsufficientFunds"
    explanation: str  # plain words for a treasurer: what happened, what to do
    known: bool = True


_TABLE: dict[str, tuple[str, str]] = {
    "AC01": ("IncorrectAccountNumber", "the account number is wrong or badly formatted. Check the IBAN or "
                                       "account number with the payee."),
    "AC02": ("InvalidDebtorAccountNumber", "our own (debtor) account number is not valid at the bank. Check the "
                                           "bank account set-up."),
    "AC03": ("InvalidCreditorAccountNumber", "the payee account number is not valid. Check it with the payee."),
    "AC04": ("ClosedAccountNumber", "the payee account is closed. Ask the payee for their current account."),
    "AC05": ("ClosedDebtorAccountNumber", "our own (debtor) account is closed. Pay from another account."),
    "AC06": ("BlockedAccount", "the account is blocked (for example by a court order or the bank's "
                               "compliance team). Contact the bank before retrying."),
    "AC13": ("InvalidDebtorAccountType", "our account type cannot make this kind of payment."),
    "AC14": ("InvalidAgent", "an agent in the payment chain cannot process it."),
    "AG01": ("TransactionForbidden", "this kind of payment is not allowed on the account (e.g. a savings "
                                     "account)."),
    "AG02": ("InvalidBankOperationCode", "the payment type or operation code is wrong for this bank."),
    "AGNT": ("IncorrectAgent", "the payee's bank is not the right one for this payment."),
    "AM01": ("ZeroAmount", "the amount is zero; nothing can be paid."),
    "AM02": ("NotAllowedAmount", "the amount is above (or below) what the bank allows for this payment."),
    "AM03": ("NotAllowedCurrency", "the bank does not accept this currency for this payment."),
    "AM04": ("InsufficientFunds", "there is not enough money on the paying account. Fund the account, then "
                                  "resend."),
    "AM05": ("Duplication", "the bank already has this payment; it was not executed twice."),
    "AM09": ("WrongAmount", "the amount is not what was agreed or expected."),
    "AM10": ("InvalidControlSum", "the control sum of the file does not match its payments."),
    "BE01": ("InconsistenWithEndCustomer",  # sic: the official ISO name carries this typo
             "the payee name does not match the account holder."),
    "BE04": ("MissingCreditorAddress", "the payee address is missing but required."),
    "BE05": ("UnrecognisedInitiatingParty", "the bank does not recognise us as the sender of the file."),
    "BE06": ("UnknownEndCustomer", "the bank does not know the end customer named in the payment."),
    "BE07": ("MissingDebtorAddress", "our address is missing but required."),
    "CH03": ("RequestedExecutionDateOrRequestedCollectionDateTooFarInFuture",
             "the execution date is too far in the future."),
    "CH16": ("ElementContentFormallyIncorrect", "a field in the payment is badly formatted."),
    "CH17": ("ElementNotAdmitted", "the payment carries a field this bank does not allow."),
    "CURR": ("IncorrectCurrency", "the currency is wrong for this payment or account."),
    "CUST": ("RequestedByCustomer", "cancelled at the customer's request."),
    "DT01": ("InvalidDate", "a date in the payment is invalid (e.g. a holiday or in the past)."),
    "DU01": ("DuplicateMessageID", "the file's message id was already used; the bank refused the copy."),
    "DU02": ("DuplicatePaymentInformationID", "the payment batch id was already used."),
    "DU03": ("DuplicateTransaction", "the bank already received this payment."),
    "DU04": ("DuplicateEndToEndID", "the end-to-end id was already used."),
    "DU05": ("DuplicateInstructionID", "the instruction id was already used."),
    "ED05": ("SettlementFailed", "settlement between the banks failed."),
    "FF01": ("InvalidFileFormat", "the file is not in a format the bank accepts (schema or syntax error)."),
    "FF05": ("InvalidLocalInstrumentCode", "the local instrument code is not valid for this bank."),
    "MD01": ("NoMandateOrInvalidMandate", "there is no valid mandate for this debit."),
    "MD07": ("EndCustomerDeceased", "the account holder has died."),
    "MS02": ("NotSpecifiedReasonCustomerGenerated", "the payee (or their bank's customer) refused it and gave "
                                                    "no reason."),
    "MS03": ("NotSpecifiedReasonAgentGenerated", "a bank refused it and gave no reason. Ask the bank."),
    "NARR": ("Narrative", "the reason is given as free text in the status report."),
    "RC01": ("BankIdentifierIncorrect", "the bank identifier (BIC or bank code) is wrong."),
    "RC03": ("InvalidDebtorBankIdentifier", "our bank's identifier in the payment is wrong."),
    "RC04": ("InvalidCreditorBankIdentifier", "the payee bank's identifier is wrong."),
    "RR01": ("MissingDebtorAccountOrIdentification", "regulatory reporting: our account or identification "
                                                     "is missing."),
    "RR02": ("MissingDebtorNameOrAddress", "regulatory reporting: our name or address is missing."),
    "RR03": ("MissingCreditorNameOrAddress", "regulatory reporting: the payee's name or address is missing."),
    "RR04": ("RegulatoryReason", "refused for regulatory reasons (for example sanctions or anti-money-"
                                 "laundering checks). Contact the bank's compliance team."),
    "TM01": ("InvalidCutOffTime", "the payment arrived after the bank's cut-off time."),
}

STATUS_REASONS: dict[str, StatusReason] = {code: StatusReason(code, name, text)
                                           for code, (name, text) in _TABLE.items()}


def describe(code: str) -> StatusReason:
    """The reason for `code` (case and spaces ignored); an unknown code comes back marked unknown."""
    key = code.strip().upper()
    found = STATUS_REASONS.get(key)
    if found is not None:
        return found
    return StatusReason(key or code, "Unknown", "a reason code not in Yinqi's table; ask the bank what it "
                                                "means.", known=False)


def plain_words(code: str | None) -> str | None:
    """'AC04 ClosedAccountNumber: the payee account is closed. …' ; None when there is no code."""
    if code is None or not code.strip():
        return None
    reason = describe(code)
    return f"{reason.code} {reason.name}: {reason.explanation}"


__all__ = ["STATUS_REASONS", "StatusReason", "describe", "plain_words"]
