"""SLA: the working-day calendar, policies, deadlines per stage, the monitor and its ladder, KPIs."""
