/*
 * energy 1.0 -> 1.1: upgrade script.
 *
 * Run by ALTER EXTENSION energy UPDATE.  It changes the schema in place and
 * keeps every reading, file, partial and rejected row of a 1.0 database; a
 * fresh CREATE EXTENSION energy runs energy--1.0.sql and then this script,
 * so a new 1.1 database and an upgraded one are built by the same lines.
 * Released scripts are never edited: every change of 1.1 goes here.
 *
 * As in the install script, every name is schema-qualified (@extschema@ or
 * pg_catalog).
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION energy UPDATE TO '1.1'" to load this file. \quit

-------------------------------------------------------------------------------
-- Reliability (issue 8): a partial counts at least one reading.
-------------------------------------------------------------------------------

-- The loader never writes a partial without readings, but a role granted
-- INSERT on energy_daily could, and the view divides by the readings: one
-- such row would make every later energy_populate_view() fail with a
-- division by zero.  Every existing partial has readings > 0, so the
-- constraint is added and checked at once (the update holds its table lock
-- to the end anyway, so NOT VALID would gain nothing).
ALTER TABLE @extschema@.energy_daily
	ADD CONSTRAINT energy_daily_readings_check CHECK (readings OPERATOR(pg_catalog.>) 0);
