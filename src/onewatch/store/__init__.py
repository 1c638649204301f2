"""Where things are kept: the schema, the database connection and the queries."""
