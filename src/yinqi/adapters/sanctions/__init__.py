"""Sanctions list adapters: loaders for OFAC SDN CSV / sdnList XML and the UN consolidated XML, a
versioned file store under YINQI_HOME/sanctions/, and readers of labelled screening files."""
