-- psql settings of every compared run: one line per row (a changed row is
-- one changed line in the diff), NULL spelled out, errors and NOTICEs
-- without CONTEXT (Citus names worker ports there, which differ per run).
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset format unaligned
\pset null '(null)'
\pset pager off
SET client_min_messages = notice;
SET extra_float_digits = 1;
