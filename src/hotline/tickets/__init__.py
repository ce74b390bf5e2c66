"""Tickets (工单): their citizens, states, events, and how an intake message becomes one."""
