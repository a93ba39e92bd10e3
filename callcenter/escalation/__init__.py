"""Human escalation: supervisor roster, warm and cold transfer, callback tickets."""
