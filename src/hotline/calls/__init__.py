"""Phone calls as the PBX reports them (CTI events): caller, agents, times, the missed-call list."""
