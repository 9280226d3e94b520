-- Drop the QuantumLeap tables, dependents first.
DROP TABLE trades;
DROP TABLE orders;
DROP TABLE signals;
DROP TABLE portfolio_positions;
DROP TABLE performance_metrics;
DROP TABLE query_performance;
