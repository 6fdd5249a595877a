"""Monthly traffic quotas of servers: the warning, over-quota and the reset day."""


def after_sampling(*, server_ids: list[int], now) -> None:
    """Called by the sampling round once the servers' monthly figures are updated."""
