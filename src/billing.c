/*-------------------------------------------------------------------------
 *
 * billing.c
 *	  Billing figures in local time: the time zones of files and tariffs,
 *	  and the days energy_tou() and energy_demand() take as text.
 *
 * A reading's time is a wall-clock time in its file's zone, and a tariff's
 * windows are wall-clock times in the tariff's zone; both zones are names
 * PostgreSQL's own time zone code (pg_tzset) resolves, so that every rule of
 * summer time comes from the tz database and none is written here.
 *
 * One trap is refused outright.  PostgreSQL reads a zone written as an
 * offset ('+10', '+10:00', 'UTC+10') as a POSIX zone specification, whose
 * sign is the opposite of ISO 8601's: '+10' is ten hours WEST of UTC.  A
 * user who writes NEM time that way would get every period twenty hours
 * out, silently.  So a zone must be a name ('Australia/Brisbane', or
 * 'Etc/GMT-10' for a fixed UTC+10, whose sign the tz database documents):
 * energy.file_time_zone's check hook and the tariff table's CHECK both ask
 * energy_zone_acceptable().
 *
 * energy_tou() and energy_demand() themselves are SQL (the upgrade script's
 * "Billing figures in local time"): this file holds what they need from C.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_time_zone_check);
PG_FUNCTION_INFO_V1(energy_billing_day);

/*
 * Whether zone names a time zone PostgreSQL knows by name.  On false,
 * *detail and *hint say why (constant strings).  An offset written as text
 * is refused (see the file's header): it starts with a sign or a digit, or
 * is UTC or GMT followed by a sign.
 */
bool
energy_zone_acceptable(const char *zone, const char **detail, const char **hint)
{
	const char *p = zone;

	*detail = NULL;
	*hint = NULL;
	if (pg_strncasecmp(p, "UTC", 3) == 0 || pg_strncasecmp(p, "GMT", 3) == 0)
		p += 3;
	if (*p == '+' || *p == '-' || (*p >= '0' && *p <= '9'))
	{
		*detail = "PostgreSQL reads an offset written as text as a POSIX zone, whose sign is reversed: \"+10\" is ten hours west of UTC.";
		*hint = "Name the zone, as Australia/Brisbane, or Etc/GMT-10 for a fixed ten hours east of UTC.";
		return false;
	}
	if (*zone == '\0' || pg_tzset(zone) == NULL)
	{
		*detail = "The zone must be a name of the tz database, as pg_timezone_names lists them.";
		*hint = "Write it as Australia/Sydney or Australia/Brisbane.";
		return false;
	}
	return true;
}

/*
 * energy_time_zone_check(zone text) RETURNS boolean: true for a zone
 * energy can use, else an error naming it (22023), so that the CHECK of
 * energy_tariff refuses a bad zone with the reason, not only the
 * constraint's name.  NULL gives NULL (the column's NOT NULL says the rest).
 */
Datum
energy_time_zone_check(PG_FUNCTION_ARGS)
{
	char	   *zone;
	const char *detail;
	const char *hint;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	zone = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!energy_zone_acceptable(zone, &detail, &hint))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid time zone \"%s\"", zone),
				 errdetail("%s", detail),
				 errhint("%s", hint)));
	PG_RETURN_BOOL(true);
}

/*
 * energy_billing_day(day text) RETURNS date: a day written as energy_get
 * takes it (dd/mm/yyyy, or yyyy-mm-dd with what drivers add), never
 * through DateStyle; the text forms of energy_tou and energy_demand use it.
 */
Datum
energy_billing_day(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(energy_text_day(PG_GETARG_TEXT_PP(0)));
}
