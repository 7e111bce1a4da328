#!/bin/bash
# Runs once, on an empty data directory, from /docker-entrypoint-initdb.d of the postgres image:
# one database per pe-insight service (the services create their tables by migration at start).
set -euo pipefail

for database in ${PE_DATABASES:-identity organisation consent reporting}; do
  echo "init-databases: creating database ${database}"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
    -c "CREATE DATABASE \"${database}\""
done
