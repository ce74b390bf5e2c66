"""Smart dispatch (智能派单): type, topic, place, urgency, and the unit that owns a ticket.

Pure functions of text and data: no database, no I/O on the hot path, batch-friendly.
"""
