"""Monthly statements, the admin roll-up and deadline escalations (docs/digests.md).

statement / rollup / escalations build template contexts from balances, rows and dates (pure);
gather reads the ledger; fanout queues and sends the month through mailbot.mail.notices; jobs holds
the scheduled ticks.
"""
