"""The ISO 20022 ExternalPurpose1Code list: the purpose codes a pain.001 `Purp/Cd` may carry.

The list is external to the message schemas (ISO publishes it separately and adds codes each
quarter), so the XSD only says "4 characters"; this set is what makes `PURPOSE_CODE_UNKNOWN` mean
"not a code ISO has published". Source: ISO 20022 External Code Sets, ExternalPurpose1Code,
release ExternalCodeSets_1Q2018 (June 2018), https://www.iso20022.org/catalogue-messages/additional-content-messages/external-code-sets
Newer releases only add codes: extend the set when a bank asks for a newer one.

>>> "SUPP" in PURPOSE_CODES, "ABCD" in PURPOSE_CODES
(True, False)
"""

from __future__ import annotations

__all__ = ["PURPOSE_CODES"]

PURPOSE_CODES: frozenset[str] = frozenset({
    "ACCT", "ADCS", "ADMG", "ADVA", "AEMP", "AGRT", "AIRB", "ALLW", "ALMY", "ANNI", "ANTS", "AREN", "B112",
    "BBSC", "BCDM", "BCFG", "BECH", "BENE", "BEXP", "BFWD", "BKDF", "BKFE", "BKFM", "BKIP", "BKPP", "BLDM",
    "BNET", "BOCE", "BONU", "BR12", "BUSB", "CAFI", "CASH", "CBFF", "CBFR", "CBLK", "CBTV", "CCHD", "CCIR",
    "CCPC", "CCPM", "CCRD", "CCSM", "CDBL", "CDCB", "CDCD", "CDCS", "CDDP", "CDEP", "CDOC", "CDQC", "CFDI",
    "CFEE", "CGDD", "CHAR", "CLPR", "CMDT", "COLL", "COMC", "COMM", "COMP", "COMT", "CORT", "COST", "CPKC",
    "CPYR", "CRDS", "CRPR", "CRSP", "CRTL", "CSDB", "CSLP", "CVCF", "DBTC", "DCRD", "DEPT", "DERI", "DIVD",
    "DMEQ", "DNTS", "DSMT", "DVPM", "ECPG", "ECPR", "ECPU", "EDUC", "ELEC", "ENRG", "EPAY", "EQPT", "EQUS",
    "ESTX", "ETUP", "EXPT", "EXTD", "FACT", "FAND", "FCOL", "FCPM", "FEES", "FERB", "FIXI", "FNET", "FORW",
    "FREX", "FUTR", "FWBC", "FWCC", "FWLV", "FWSB", "FWSC", "FXNT", "GASB", "GDDS", "GDSV", "GFRP", "GOVI",
    "GOVT", "GSCB", "GSTX", "GVEA", "GVEB", "GVEC", "GVED", "GWLT", "HEDG", "HLRP", "HLST", "HLTC", "HLTI",
    "HREC", "HSPC", "HSTX", "ICCP", "ICRF", "IDCP", "IHRP", "INPC", "INPR", "INSC", "INSM", "INSU", "INTC",
    "INTE", "INTX", "INVS", "IVPT", "LBIN", "LBRI", "LCOL", "LFEE", "LICF", "LIFI", "LIMA", "LMEQ", "LMFI",
    "LMRK", "LOAN", "LOAR", "LREB", "LREV", "LSFL", "LTCF", "MAFC", "MARF", "MARG", "MBSB", "MBSC", "MCDM",
    "MCFG", "MDCS", "MGCC", "MGSC", "MP2B", "MP2P", "MSVC", "MTUP", "NETT", "NITX", "NOWS", "NWCH", "NWCM",
    "OCCC", "OCDM", "OCFG", "OFEE", "OPBC", "OPCC", "OPSB", "OPSC", "OPTN", "OTCD", "OTHR", "OTLC", "PADD",
    "PAYR", "PEFC", "PENO", "PENS", "PHON", "POPE", "PPTI", "PRCP", "PRME", "PTSP", "PTXP", "RCKE", "RCPT",
    "RDTX", "REBT", "REFU", "RELG", "RENT", "REOD", "REPO", "RHBS", "RIMB", "RINP", "RLWY", "ROYA", "RPBC",
    "RPCC", "RPNT", "RPSB", "RPSC", "RRBN", "RVPM", "RVPO", "SALA", "SAVG", "SBSC", "SCIE", "SCIR", "SCRP",
    "SCVE", "SECU", "SEPI", "SERV", "SHBC", "SHCC", "SHSL", "SLEB", "SLOA", "SLPI", "SPLT", "SSBE", "STDY",
    "SUBS", "SUPP", "SWBC", "SWCC", "SWFP", "SWPP", "SWPT", "SWRS", "SWSB", "SWSC", "SWUF", "TAXR", "TAXS",
    "TBAN", "TBAS", "TBBC", "TBCC", "TBIL", "TCSC", "TELI", "TLRF", "TLRR", "TMPG", "TPRI", "TPRP", "TRAD",
    "TRCP", "TREA", "TRFD", "TRNC", "TRPT", "TRVC", "UBIL", "UNIT", "VATX", "VIEW", "WEBI", "WHLD", "WTER",
})
