"""Publishing: episodes shared internally, then publicly after a second sign-off, and
the private feed links of the organisation's listeners."""
