"""Reports an inspector reads: the checklist, the windows, the evidence and the risk degree."""
