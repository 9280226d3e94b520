"""Getting ticks in: validation of batches, bulk insert and the streaming writer."""
