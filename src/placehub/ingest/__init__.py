"""LoRaWAN ingest: raw journal, idempotency, network-server adapters, codecs, device profiles."""
