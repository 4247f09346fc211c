"""What Node-RED's (JavaScript's) values and expressions mean: pure functions, no engine imports."""
