package o365

import (
	"strings"
	"time"
)

// windowsZones maps the Windows time zone names mailboxSettings gives as
// timeZone to IANA zones (the CLDR windowsZones "001" territory entries of
// the zones Outlook users are most often in). A mailbox set to an IANA
// name needs no entry.
var windowsZones = map[string]string{
	"Dateline Standard Time": "Etc/GMT+12", "UTC-11": "Etc/GMT+11", "Hawaiian Standard Time": "Pacific/Honolulu",
	"Alaskan Standard Time": "America/Anchorage", "Pacific Standard Time": "America/Los_Angeles",
	"US Mountain Standard Time": "America/Phoenix", "Mountain Standard Time": "America/Denver",
	"Central Standard Time": "America/Chicago", "Central America Standard Time": "America/Guatemala",
	"Central Standard Time (Mexico)": "America/Mexico_City", "Canada Central Standard Time": "America/Regina",
	"SA Pacific Standard Time": "America/Bogota", "Eastern Standard Time": "America/New_York",
	"Atlantic Standard Time": "America/Halifax", "SA Western Standard Time": "America/La_Paz",
	"Pacific SA Standard Time": "America/Santiago", "Newfoundland Standard Time": "America/St_Johns",
	"E. South America Standard Time": "America/Sao_Paulo", "Argentina Standard Time": "America/Buenos_Aires",
	"Greenland Standard Time": "America/Godthab", "UTC-02": "Etc/GMT+2", "Azores Standard Time": "Atlantic/Azores",
	"UTC": "Etc/UTC", "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
	"W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest",
	"Romance Standard Time": "Europe/Paris", "Central European Standard Time": "Europe/Warsaw",
	"W. Central Africa Standard Time": "Africa/Lagos", "GTB Standard Time": "Europe/Bucharest",
	"FLE Standard Time": "Europe/Kiev", "Israel Standard Time": "Asia/Jerusalem", "Egypt Standard Time": "Africa/Cairo",
	"South Africa Standard Time": "Africa/Johannesburg", "E. Europe Standard Time": "Europe/Chisinau",
	"Turkey Standard Time": "Europe/Istanbul", "Russian Standard Time": "Europe/Moscow",
	"Arab Standard Time": "Asia/Riyadh", "E. Africa Standard Time": "Africa/Nairobi", "Iran Standard Time": "Asia/Tehran",
	"Arabian Standard Time": "Asia/Dubai", "Afghanistan Standard Time": "Asia/Kabul",
	"Pakistan Standard Time": "Asia/Karachi", "West Asia Standard Time": "Asia/Tashkent",
	"India Standard Time": "Asia/Calcutta", "Nepal Standard Time": "Asia/Katmandu",
	"Bangladesh Standard Time": "Asia/Dhaka", "Myanmar Standard Time": "Asia/Rangoon",
	"SE Asia Standard Time": "Asia/Bangkok", "China Standard Time": "Asia/Shanghai",
	"Singapore Standard Time": "Asia/Singapore", "Taipei Standard Time": "Asia/Taipei",
	"W. Australia Standard Time": "Australia/Perth", "Tokyo Standard Time": "Asia/Tokyo",
	"Korea Standard Time": "Asia/Seoul", "Cen. Australia Standard Time": "Australia/Adelaide",
	"AUS Central Standard Time": "Australia/Darwin", "E. Australia Standard Time": "Australia/Brisbane",
	"AUS Eastern Standard Time": "Australia/Sydney", "West Pacific Standard Time": "Pacific/Port_Moresby",
	"Tasmania Standard Time": "Australia/Hobart", "Central Pacific Standard Time": "Pacific/Guadalcanal",
	"New Zealand Standard Time": "Pacific/Auckland", "UTC+12": "Etc/GMT-12", "Fiji Standard Time": "Pacific/Fiji",
	"Tonga Standard Time": "Pacific/Tongatapu", "Samoa Standard Time": "Pacific/Apia",
	"Line Islands Standard Time": "Pacific/Kiritimati",
}

// zoneOf returns the location of a mailboxSettings timeZone (a Windows or
// an IANA name); false when it names no zone this table or the system's
// zone data knows.
func zoneOf(name string) (*time.Location, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, false
	}
	if iana, ok := windowsZones[name]; ok {
		name = iana
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	return loc, true
}
