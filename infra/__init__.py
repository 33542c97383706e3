"""What the service and its workers run on: settings, the blob store, the embedded Redis server,
client keys, the outbound network guard and signed (Standard Webhooks) callbacks."""
