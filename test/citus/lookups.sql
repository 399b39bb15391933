-- Every form of the lookups on chosen meter-days (LP, TOU, NEM12, NEM13,
-- a day with no data, a date not in the calendar).  Run when the view may
-- be stale too: the NOTICEs are part of the answer.
\echo '--- lookups'
SELECT * FROM energy_get('210095893', '210095893', '01/09/2015');
SELECT * FROM energy_get('210095893', '210095893', date '2015-08-31');
SELECT * FROM energy_get('210095893', '210095893', '2015-09-01');
SELECT * FROM energy_get('210095893', '210095893', '2015-09-01T00:00:00.000+10:00');
SELECT * FROM energy_get('210095893', '210095893', date '2015-08-01', date '2015-09-30');
SELECT * FROM energy_get('214612534', '214612534', '07/09/2015');
SELECT * FROM energy_get('214612534', '214612534', date '2015-09-01', date '2015-09-30');
SELECT * FROM energy_get('214667141', '214667141', '01/09/2015');
SELECT * FROM energy_get('212621145', '212621145', '2015-09-11 +00');
SELECT * FROM energy_get('NCDE001111', 'METSER123', '04/12/2003');
SELECT * FROM energy_get('VDEF005890', 'MET12345', date '2004-04-08');
SELECT * FROM energy_get('nmi42', '', '01/01/2020');
SELECT * FROM energy_get('210095893', '210095893', '02/09/2015');
SELECT * FROM energy_get('210095893', '210095893', '31/02/2015');
SELECT energy_get_json('210095893', '210095893', '01/09/2015');
SELECT energy_get_json('214612534', '214612534', date '2015-09-06');
SELECT energy_get_json('NDDD001888', 'METSER991', '05/12/2003');
SELECT energy_get_json('210095893', '210095893', '02/09/2015');
SELECT * FROM energy_get_channels('210095893', NULL, '01/09/2015');
SELECT * FROM energy_get_channels('210095893', '210095893', date '2015-08-31');
SELECT * FROM energy_get_channels('214667141', NULL, date '2015-09-01');
SELECT * FROM energy_get_channels('NCDE001111', NULL, '2003-12-04');
SELECT * FROM energy_get_channels('NCDE001111', 'METSER456', date '2003-12-05');
SELECT * FROM energy_get_channels('nmi7', '', '01/01/2020');
SELECT * FROM energy_get_channels(NULL, NULL, date '2015-09-01');
