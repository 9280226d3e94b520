-- Remove the QuantumLeap trading tables, children before parents.
--
-- Dropping a table drops its indexes. trades references orders, orders references signals.
DROP TABLE trades;
DROP TABLE orders;
DROP TABLE signals;
DROP TABLE portfolio_positions;
DROP TABLE performance_metrics;
DROP TABLE query_performance;
