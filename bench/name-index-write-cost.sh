#!/bin/bash
# Write cost of the name index (migration 0019): inserting N relations in one
# statement, and 500 one by one, into scratch databases migrated with and
# without it (PostgreSQL at 127.0.0.1:5432; SQLite through Python's sqlite3).
# Usage: N=20000 bench/name-index-write-cost.sh
cd "$(dirname "$0")/.."
P="psql -h 127.0.0.1 -U postgres -q -v ON_ERROR_STOP=1"
N=${N:-20000}
for mode in with without; do
  $P -d test -c "DROP DATABASE IF EXISTS probe_w" -c "CREATE DATABASE probe_w" >/dev/null
  for f in migrations/postgres/*.sql; do
    if [ $mode = without ] && [[ $f == *0019* ]]; then continue; fi
    $P -d probe_w -f $f >/dev/null
  done
  $P -d probe_w >/dev/null <<SQL
INSERT INTO company (name, create_date) VALUES ('c',1);
INSERT INTO sales_user (company_id, username, token, create_date) VALUES (1,'u','t',1);
INSERT INTO customer (company_id, username, token, create_date) SELECT 1, 'scaling customer ' || g, 't' || g, 1 FROM generate_series(1,$N) g;
CHECKPOINT;
SQL
  for rep in 1 2 3; do
    t=$($P -d probe_w -At <<SQL | grep Time | awk '{print $2}'
DELETE FROM relation;
CHECKPOINT;
\timing on
INSERT INTO relation (user_id, customer_id, create_date) SELECT 1, g, 1 FROM generate_series(1,$N) g;
SQL
)
    echo "postgres $mode N=$N insert ms: $t"
  done
  # One relation at a time (as the API creates them): 500 single-row inserts.
  t=$($P -d probe_w -At <<SQL | grep Time | awk '{print $2}'
DELETE FROM relation;
\timing on
DO \$\$ BEGIN FOR g IN 1..500 LOOP INSERT INTO relation (user_id, customer_id, create_date) VALUES (1, g, 1); END LOOP; END \$\$;
SQL
)
  echo "postgres $mode 500 single-row inserts ms: $t"
done
$P -d test -c "DROP DATABASE IF EXISTS probe_w" >/dev/null
python3 - <<PY
import sqlite3, time, glob
N=$N
for mode in ('with','without'):
    db=sqlite3.connect(':memory:')
    for f in sorted(glob.glob('migrations/sqlite/*.sql')):
        if mode=='without' and '0019' in f: continue
        db.executescript(open(f).read())
    db.executescript("INSERT INTO company (name, create_date) VALUES ('c',1); INSERT INTO sales_user (company_id, username, token, create_date) VALUES (1,'u','t',1);")
    db.executemany("INSERT INTO customer (company_id, username, token, create_date) VALUES (1, ?, 't', 1)", [('scaling customer %d'%i,) for i in range(1,N+1)])
    db.commit()
    for rep in range(3):
        db.execute('DELETE FROM relation'); db.commit()
        t=time.perf_counter()
        db.execute('INSERT INTO relation (user_id, customer_id, create_date) SELECT 1, id, 1 FROM customer'); db.commit()
        print('sqlite %s N=%d insert ms: %.1f' % (mode, N, (time.perf_counter()-t)*1000))
    db.execute('DELETE FROM relation'); db.commit()
    t=time.perf_counter()
    for g in range(1,501):
        db.execute('INSERT INTO relation (user_id, customer_id, create_date) VALUES (1, ?, 1)', (g,))
    db.commit()
    print('sqlite %s 500 single-row inserts ms: %.1f' % (mode, (time.perf_counter()-t)*1000))
PY
