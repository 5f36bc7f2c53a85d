#include "ctl/usage.h"

#include "absl/strings/str_cat.h"

namespace anteroom::ctl {
namespace {

constexpr absl::string_view kGlobalFlags = R"(Global flags (anywhere on the line):
  --coordinator ADDRS   coordinator shard addresses by ordinal, HOST:PORT[,HOST:PORT...];
                        room and pool calls go to the owner shard
                        (env ANTEROOM_COORDINATOR, default 127.0.0.1:7400)
  --token TOKEN         Admin API bearer token (env ANTEROOM_TOKEN)
  --token-file FILE     read the bearer token from FILE
  -o, --output FORMAT   table (default) or json
  --timeout DURATION    deadline of each call: 5s (default), 500ms, 1m
  --rpc-timeout DURATION  the same; use it in pool create/update, where --timeout is the probe's
  -h, --help            show help

Exit codes: 0 done, 1 the coordinator refused or could not be reached (the message starts
with the gRPC code, e.g. NOT_FOUND), 2 bad command line or invalid settings (nothing sent).
)";

constexpr absl::string_view kCommands = R"(Usage: anteroomctl COMMAND [ARGS] [flags]

Commands:
  room create ID [room flags]   create a waiting room
  room get ID                   show a room's settings
  room list                     list the rooms
  room update ID [room flags]   change only the settings given (safe against concurrent edits)
  room delete ID                delete a room
  room status ID                live state: phase, queue, rates, ETA, marker, agents
  pool create ID [pool flags]   create an origin pool
  pool get ID                   show a pool
  pool list                     list the pools
  pool update ID [pool flags]   change only the settings given
  pool delete ID                delete a pool
  health [--pool ID]            the coordinator's verdict per origin
  keys rotate                   make a new token signing key current
  backup                        write a checkpoint of the coordinator's database

Run 'anteroomctl room --help' or 'anteroomctl pool --help' for their flags.

)";

constexpr absl::string_view kRoom = R"(Usage:
  anteroomctl room create ID --total-active-users N --new-users-per-minute N [room flags]
  anteroomctl room create ID --from-file room.yaml [room flags]
  anteroomctl room get ID
  anteroomctl room list
  anteroomctl room update ID [room flags]
  anteroomctl room delete ID
  anteroomctl room status ID

Room flags (update changes only the ones given):
  --from-file FILE              all settings from a YAML Room (field names as in room.proto);
                                the flags below then change what they name
 Traffic
  --route HOST/PATH             a route, repeatable: shop.example.com/checkout, *.example.com/,
                                /api (any host); replaces the routes; --route= clears them
  --host HOST --path PREFIX     a route given in two parts; with the --route ones it
                                replaces the routes
  --pool ID                     origin pool, repeatable, in priority order; --pool= clears
  --fallback-pool ID            pool used when all others are down
 Limits
  --total-active-users N        users allowed in at once (required by create)
  --new-users-per-minute N      admissions per minute (required by create)
  --session-duration D          idle time before a session ends: 300, 300s, 5m, 1h (default 5m)
  --session-renewal[=BOOL]      each request extends the session (default true)
  --max-session-duration D      hard cap: a session ends this long after admission, however
                                often it renews (default 0: no cap)
 Queue
  --queueing-method M           fifo (default), random, passthrough or reject
  --queue-all[=BOOL]            everyone queues, nobody is admitted
  --suspended[=BOOL]            room off: traffic passes uncounted
  --refresh-interval D          waiting page refresh (default 20s)
  --abandon-grace D             a queued user unseen this long loses the place (default 5m)
  --queueing-status-code N      200 (default), 202, 429 or 503
  --json-response[=BOOL]        answer Accept: application/json with JSON
  --fail-mode M                 closed (default) or open, when the coordinator is unreachable
 Waiting page
  --page-language LANG          default language of the built-in page (en, de, ...)
  --page-title TITLE            title of the built-in page
  --page-template-file FILE     your own HTML with {{position}}, {{eta}}, ...; '' = built-in
 Event (times: 2026-12-01T10:00:00Z or Unix seconds; 0 = none)
  --event-prequeue-start T      from here to the start everyone queues
  --event-start T  --event-end T
  --event-shuffle[=BOOL]        order prequeue arrivals by lottery
  --event-total-active-users N  --event-new-users-per-minute N  --event-session-duration D
                                limits while the event runs; 0 removes the override
  --event-page-language LANG  --event-page-title TITLE  --event-page-template-file FILE
 Bypass (each kind replaces only its own rules; an empty value clears them)
  --bypass-path PREFIX          repeatable
  --bypass-header NAME=VALUE    repeatable
  --bypass-cidr CIDR            repeatable, e.g. 10.0.0.0/8
  --bypass-signed-token[=BOOL]  accept signed bypass tokens
 Cookie
  --cookie-suffix S  --cookie-domain D  --cookie-secure[=BOOL]
  --cookie-samesite lax|strict|none    (none needs --cookie-secure)

BOOL is true/false (also yes/no, on/off, 1/0); a bare --flag means true.

)";

constexpr absl::string_view kPool = R"(Usage:
  anteroomctl pool create ID --origin ADDR:PORT [--origin ...] [pool flags]
  anteroomctl pool get ID
  anteroomctl pool list
  anteroomctl pool update ID [pool flags]
  anteroomctl pool delete ID

Pool flags (update changes only the ones given):
  --from-file FILE              all settings from a YAML Pool (field names as in pool.proto)
  --origin ADDR:PORT[,weight=N][,disabled][,name=NAME]
                                repeatable, replaces the origins; IPv6 as [::1]:8080
  --minimum-healthy N           the pool is up while N origins are (default 1)
  --steering P                  failover (default), weighted-random, least-outstanding,
                                lowest-latency
 Health probe
  --monitor-type T              http (default), https or tcp
  --monitor-method M            default GET
  --monitor-path PATH           default /
  --monitor-host HOST           Host header (default the origin's address)
  --monitor-header NAME=VALUE   repeatable, replaces the headers; --monitor-header= clears
  --expected-codes CODES        2xx (default), 200,301, 200-299
  --expected-body TEXT          a substring the body must contain
  --interval D                  between probes: 2000 (ms), 2s (default 2s)
  --timeout D                   per probe (default 1s; below --interval)
  --jitter D                    random spread per interval (default 10% of it)
  --consecutive-up N  --consecutive-down N    (defaults 2 and 3)
  --follow-redirects[=BOOL]  --allow-insecure[=BOOL]

In pool create and update the call deadline is --rpc-timeout.

)";

constexpr absl::string_view kHealth = R"(Usage: anteroomctl health [--pool ID]

The coordinator's majority verdict for each origin, from what the agents report.

)";

constexpr absl::string_view kKeys = R"(Usage: anteroomctl keys rotate

Makes a new token signing key current on every shard. The previous key stays accepted for
one session duration, so no user loses their place.

)";

constexpr absl::string_view kBackup = R"(Usage: anteroomctl backup

Writes a RocksDB checkpoint on each shard's disk (under its backup directory) and prints
where.

)";

}  // namespace

std::string TopUsage() { return absl::StrCat(kCommands, kGlobalFlags); }

std::string GroupUsage(absl::string_view group) {
  absl::string_view text;
  if (group == "room") {
    text = kRoom;
  } else if (group == "pool") {
    text = kPool;
  } else if (group == "health") {
    text = kHealth;
  } else if (group == "keys") {
    text = kKeys;
  } else if (group == "backup") {
    text = kBackup;
  } else {
    return TopUsage();
  }
  return absl::StrCat(text, kGlobalFlags);
}

}  // namespace anteroom::ctl
