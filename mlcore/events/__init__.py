"""The interaction event intake: posted records, their durable log, and merging them
into a tenant's dataset before a refresh."""
