--
-- energy: a size setting out of its range is refused (22023) with the
-- range, and keeps its value.  The server words the message: from
-- PostgreSQL 17 it writes the bounds with their unit, so this test has two
-- expected outputs, energy_limits_units.out (15, 16) and
-- energy_limits_units_1.out (17 on).  It is apart from energy_limits so
-- that only these lines are kept twice.
--
CREATE EXTENSION energy;
LOAD 'energy';
SET energy.max_record_size = '100MB'; -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SET energy.max_record_size = '512B'; -- ERROR
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SHOW energy.max_record_size;
DROP EXTENSION energy;
