/*
 * energy 1.1 -> 1.2: upgrade script.
 *
 * Run by ALTER EXTENSION energy UPDATE.  It changes the schema in place and
 * keeps every reading, file, partial and rejected row of a 1.1 database; a
 * fresh CREATE EXTENSION energy runs energy--1.0.sql, energy--1.0--1.1.sql
 * and then this script, so a new 1.2 database and an upgraded one are built
 * by the same lines.  Released scripts are never edited: every change of
 * 1.2 goes here, in the section of the issue it belongs to.
 *
 * As in the install script, every name is schema-qualified (@extschema@ or
 * pg_catalog), and every SQL or PL/pgSQL function pins
 * search_path = pg_catalog, pg_temp.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION energy UPDATE TO '1.2'" to load this file. \quit

-------------------------------------------------------------------------------
-- Writers that never lose, double or deadlock
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Every supported PostgreSQL
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Smaller than the files it came from
-------------------------------------------------------------------------------

-------------------------------------------------------------------------------
-- Client forms, second round
-------------------------------------------------------------------------------
