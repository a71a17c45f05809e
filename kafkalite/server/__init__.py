"""The only asyncio networking code: listener, one protocol object per connection, shutdown."""
