/*
 * energy 1.2 -> 1.3: upgrade script.
 *
 * Run by ALTER EXTENSION energy UPDATE.  It changes the schema in place and
 * keeps every reading, file, partial and rejected row of a 1.2 database; a
 * fresh CREATE EXTENSION energy runs energy--1.0.sql and each upgrade
 * script in turn, so a new 1.3 database and an upgraded one are built by
 * the same lines.  Released scripts are never edited: every change of 1.3
 * goes here, in the section of the issue it belongs to.
 *
 * As in the install script, every name is schema-qualified (@extschema@ or
 * pg_catalog), and every SQL or PL/pgSQL function pins
 * search_path = pg_catalog, pg_temp.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION energy UPDATE TO '1.3'" to load this file. \quit

-------------------------------------------------------------------------------
-- Nothing a caller can steer
-------------------------------------------------------------------------------

-- A unit and its canonical unit are printable ASCII words separated by
-- single spaces: 'kwh ' (a trailing space) or a full-width 'ＫＷＨ' would
-- never be a file's kWh (units compare without case in ASCII only), and
-- would sit in the table looking like a unit that works.  NOT VALID: a row
-- a database already has is left as it is (and still checked when
-- changed), so the update never fails on one.
ALTER TABLE @extschema@.energy_unit
	ADD CONSTRAINT energy_unit_spelling
		CHECK (unit OPERATOR(pg_catalog.~) '^[!-~]+( [!-~]+)*$'
			   AND canonical OPERATOR(pg_catalog.~) '^[!-~]+( [!-~]+)*$') NOT VALID;
