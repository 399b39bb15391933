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
