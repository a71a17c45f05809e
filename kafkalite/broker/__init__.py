"""Request handlers and the cluster state they share. No sockets here."""
