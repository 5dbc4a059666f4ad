// The typed, validated, immutable configuration of one keygate process.
//
// Built once by conf::load_config() from YAML and shared as std::shared_ptr<const Config>;
// a reload builds a whole new Config and swaps the pointer, so requests in flight keep the
// snapshot they started with. Nothing here is mutated after loading.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace keygate::conf {

using Duration = std::chrono::milliseconds;

// Where a value came from, so later checks can still point at the file.
struct SourceMark {
  int line = 0;    // 1-based; 0 when the value was defaulted
  int column = 0;  // 1-based
};

enum class TlsVersion { tls1_2, tls1_3 };

// One certificate and its key, offered to clients whose SNI names one of `server_names`
// (exact, or "*.example.com" for one label); the listener's own pair is the default.
struct TlsCertificateConfig {
  std::vector<std::string> server_names;  // lower case
  std::string cert_file;                  // PEM, leaf first, then intermediates
  std::string key_file;                   // PEM
};

// listeners[].tls: keygate terminates TLS (docs/tls.md).
struct ListenerTlsConfig {
  bool enabled = false;
  std::string cert_file;
  std::string key_file;
  std::vector<TlsCertificateConfig> certificates;  // selected by SNI
  TlsVersion min_version = TlsVersion::tls1_2;
  std::string ciphers;       // TLS 1.2 cipher list (OpenSSL syntax); empty: keygate's default
  std::string ciphersuites;  // TLS 1.3 suites; empty: OpenSSL's default
  std::vector<std::string> alpn = {"http/1.1"};
  std::string client_ca_file;  // set: ask for client certificates signed by these CAs
  bool require_client_cert = false;
  Duration handshake_timeout{10000};
  std::size_t max_handshakes = 1024;  // concurrent handshakes per process; more are refused
};

// A listener in `mode: authorize` answers whether a request may pass instead of forwarding it,
// for a front proxy that delegates authentication (docs/forward-auth.md).
struct AuthorizeConfig {
  // nginx: auth_request, which passes only 2xx, 401 and 403 on (the real status travels in
  // X-Keygate-Status); traefik: ForwardAuth; envoy: ext_authz as an HTTP service.
  enum class Flavor { nginx, traefik, envoy };
  Flavor flavor = Flavor::nginx;
  // Where the front proxy puts the original request (nginx and traefik); defaulted per flavor.
  std::string method_header;
  std::string uri_header;
  std::string host_header;
  std::string path_prefix;  // envoy: what its path_prefix setting puts before the original path
};

struct ListenerConfig {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: pick a free port (tests)
  // Peers (CIDR) whose X-Forwarded-For/-Proto/-Host and Forwarded are believed: a front proxy
  // such as an ingress. From anyone else keygate replaces them with what it saw itself.
  std::vector<std::string> trusted_proxies;
  enum class Mode { proxy, authorize };
  Mode mode = Mode::proxy;
  AuthorizeConfig authorize;  // mode authorize
  ListenerTlsConfig tls;
};

struct AdminConfig {
  std::string address = "127.0.0.1";
  std::uint16_t port = 9090;  // 0: pick a free port (tests)
  bool enabled = true;
  // Bearer token for the management API, read at start from one of these (env wins).
  std::string token_env;   // name of an environment variable
  std::string token_file;  // path of a file holding the token
};

// upstreams[].tls, for https:// upstreams: verified like a browser would unless told not to.
struct UpstreamTlsConfig {
  bool enabled = false;               // the URL is https://
  std::string ca_file;                // PEM bundle; empty: the system's CA store
  std::string server_name;            // SNI and the name verified; empty: the URL's host
  bool insecure_skip_verify = false;  // accepts any certificate: logged loudly at start
  std::string cert_file;              // client certificate (mTLS to the upstream)
  std::string key_file;
  TlsVersion min_version = TlsVersion::tls1_2;
};

struct UpstreamConfig {
  std::string name;
  std::string url;   // as written, e.g. http://127.0.0.1:3000/base
  std::string host;  // parsed from url; an IP address or a hostname
  std::uint16_t port = 80;
  std::string base_path;  // path part of the url without a trailing '/', often empty
  Duration connect_timeout{2000};
  Duration response_timeout{30000};       // from request sent to response header received
  std::size_t max_idle_connections = 64;  // per worker thread
  std::size_t max_connections = 1024;     // per worker thread; 0 = unbounded
  UpstreamTlsConfig tls;
  SourceMark mark;
};

// Where a route accepts the API key from.
struct KeySource {
  enum class Kind { bearer, header, query };
  Kind kind = Kind::bearer;
  std::string name;  // header name (kind header) or query parameter name (kind query)
};

struct RouteAuthConfig {
  bool required = true;  // false: `auth: none`, a public route
  std::vector<KeySource> sources = {{KeySource::Kind::bearer, "authorization"},
                                    {KeySource::Kind::header, "x-api-key"}};
  // A query-string key is visible in logs and browser history: secret-type keys may only
  // use it when this is set.
  bool allow_query_for_secret_keys = false;
  std::vector<std::string> scopes_all;    // every one of these is required
  std::vector<std::string> scopes_any;    // at least one of these is required (if non-empty)
  std::vector<std::string> environments;  // empty: any
  std::vector<std::string> key_types;     // empty: any
  // `mtls: required`: the client must have presented a certificate the listener verified
  // (listeners[].tls.client_ca_file); checked before the API key.
  bool mtls_required = false;
};

enum class LimitFailureMode { fail_open, fail_closed, local };

struct RouteConfig {
  std::string name;  // defaults to "route-<index>"
  std::string host;  // empty: any host; compared case-insensitively, port ignored
  enum class PathMatch { prefix, exact };
  PathMatch path_match = PathMatch::prefix;
  std::string path = "/";
  std::vector<std::string> methods;           // upper case; empty: any
  std::string upstream;                       // name of an UpstreamConfig
  std::optional<std::size_t> max_body_bytes;  // overrides limits.max_body_bytes
  std::optional<std::size_t> min_body_rate;   // overrides limits.min_body_rate
  bool strip_prefix = false;                  // drop the matched prefix before forwarding
  RouteAuthConfig auth;
  std::vector<std::string> rate_limits;  // names of policies applied on this route
  LimitFailureMode limit_failure = LimitFailureMode::fail_open;
  SourceMark mark;
};

struct LimitsConfig {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 10 * 1024 * 1024;  // 0 = unbounded (streaming)
  Duration client_header_timeout{10000};          // first byte to end of request header
  Duration idle_timeout{60000};                   // between keep-alive requests
  Duration body_timeout{60000};                   // no progress on a body for this long
  // A request body must keep up this average (bytes per second) once body_timeout has passed,
  // so a trickling upload cannot hold an upstream connection for ever; 0: no minimum.
  std::size_t min_body_rate = 1024;
  Duration drain_timeout{15000};  // on SIGTERM, wait this long for requests in flight
  // On SIGTERM, first report not-ready and keep accepting this long, so endpoints are removed
  // before the listener closes (a rolling update loses no request); 0: drain at once.
  Duration shutdown_delay{5000};
  std::size_t max_connections = 10000;  // client connections per process
};

// How request heads are cleaned before routing (docs/security.md).
struct HttpConfig {
  // RFC 3986 dot segments removed and unreserved %XX decoded before routing; the upstream gets
  // the normalised path, so it serves what keygate authorised.
  bool normalize_path = true;
  bool merge_slashes = true;  // "//" -> "/"
  // %2F and %5C (and a raw '\'): some upstreams decode them into separators after routing.
  enum class EscapedSlashes { reject, keep };
  EscapedSlashes escaped_slashes = EscapedSlashes::reject;
  // CGI/WSGI servers map X_Foo and X-Foo to the same variable, so an underscore name can pose
  // as a header keygate sets.
  enum class Underscores { drop, reject, allow };
  Underscores headers_with_underscores = Underscores::drop;
};

struct AccessLogConfig {
  bool enabled = true;
  std::string path = "stdout";  // "stdout", "stderr" or a file path
};

// Header names under which the caller's identity is passed upstream.
struct IdentityHeadersConfig {
  std::string key_id = "X-Keygate-Key-Id";
  std::string org = "X-Keygate-Org";
  std::string environment = "X-Keygate-Environment";
  std::string key_type = "X-Keygate-Key-Type";
  std::string scopes = "X-Keygate-Scopes";
  std::string plan = "X-Keygate-Plan";
  // The subject of a verified client certificate (TLS listeners with client_ca_file).
  std::string client_cert_subject = "X-Keygate-Client-Cert-Subject";
};

struct KeyPrefixConfig {
  std::string environment;
  std::string type;
  std::string prefix;  // e.g. "sk_live_"; [a-z0-9_]+ ending in '_'
};

struct PlanConfig {
  std::string name;
  std::optional<std::size_t> max_keys;         // nullopt: unlimited
  std::vector<std::string> rate_limits;        // policy names applied to every key of the plan
  std::optional<std::uint64_t> monthly_quota;  // calls per 30-day period; nullopt: none
};

struct KeysConfig {
  std::vector<std::string> environments = {"test", "live"};
  std::vector<std::string> types = {"public", "secret", "restricted", "admin", "test"};
  std::vector<KeyPrefixConfig> prefixes;  // defaulted from environments x types when empty
  // Key types that count as "secret" for allow_query_for_secret_keys.
  std::vector<std::string> secret_types = {"secret", "admin", "restricted"};
  enum class Hash { sha256, hmac_sha256 };
  Hash hash = Hash::sha256;
  std::string pepper_env;  // HMAC pepper source (hash: hmac-sha256)
  std::string pepper_file;
  std::vector<PlanConfig> plans;  // none by default: no key maximum, no quota
  std::string default_plan;       // required when plans are configured; empty without plans
  std::map<std::string, std::vector<std::string>> type_rate_limits;  // key type -> policies
};

struct CacheConfig {
  Duration positive_ttl{30000};
  Duration negative_ttl{5000};
  std::size_t max_entries = 100000;
  std::size_t max_negative_entries = 10000;
  // Redis unreachable: keys validated within this long keep working.
  Duration stale_grace{300000};
};

struct RedisConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password_env;  // AUTH password from this environment variable, if set
  int database = 0;
  Duration command_timeout{250};  // store reads
  Duration limiter_timeout{20};   // rate-limit script calls
  int limiter_batch = 64;         // requests per rate-limit script call (1: no batching)
  Duration connect_timeout{1000};
  Duration reconnect_min{100};
  Duration reconnect_max{5000};
  std::string key_prefix = "kg:";
  // Redis Cluster (store.redis.cluster.seeds, "host:port" each): when not empty, host and port
  // are unused and the slot map is learnt from these nodes (docs/redis-schema.md, "Cluster").
  std::vector<std::string> cluster_seeds;
  // Redis Sentinel (store.redis.sentinel): when `sentinels` ("host:port" each) is not empty,
  // host and port are unused and the master named `sentinel_master` is asked of the sentinels
  // and followed through failovers (docs/redis-schema.md, "Sentinel").
  std::string sentinel_master;
  std::vector<std::string> sentinels;
};

struct StoreConfig {
  enum class Kind { file, redis };
  Kind kind = Kind::file;
  std::string file_path;  // kind file: YAML/JSON file of key records; resolved against config dir
  RedisConfig redis;      // kind redis; also used by rate limits and usage when present
  // True when `redis` was configured (kind redis, or a store.redis block beside a file
  // store); false means `redis` holds only defaults and nothing should connect to it.
  bool redis_enabled = false;
};

struct RateLimitPolicyConfig {
  std::string name;
  enum class Counter { key, org, route, client_ip };
  Counter per = Counter::key;
  enum class Algorithm { sliding_window, fixed_window, token_bucket };
  Algorithm algorithm = Algorithm::sliding_window;
  std::uint64_t limit = 60;
  Duration window{60000};
  std::uint64_t burst = 0;     // token bucket: bucket size; 0 = limit
  bool monthly_quota = false;  // a 30-day period anchored at the org's creation
  // Redis store: at most this many requests' worth a worker may take from a counter at once and
  // admit locally (docs/rate-limits.md, "Leases"); 0: every request is decided in Redis.
  std::uint64_t lease = 0;
  SourceMark mark;
};

struct RateLimitConfig {
  std::vector<RateLimitPolicyConfig> policies;
  bool draft_headers = true;  // RateLimit-Policy / RateLimit (IETF draft)
  int replica_count = 1;      // for LimitFailureMode::local
  Duration breaker_open_for{2000};
  int breaker_failures = 5;
};

struct UsageConfig {
  bool enabled = true;
  Duration flush_interval{1000};
  Duration last_used_interval{60000};
};

// What /readyz reports.
struct ReadinessConfig {
  // false: ready while requests can still be served from the cache (stale grace) and with
  // fail-open limits during a store outage, so an outage does not take the whole fleet out;
  // true: not ready while the store is unreachable.
  bool require_store = false;
};

struct Config {
  std::string source_path;  // the file this was loaded from
  int threads = 0;          // 0: one per core
  std::vector<ListenerConfig> listeners = {ListenerConfig{}};
  AdminConfig admin;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;
  LimitsConfig limits;
  HttpConfig http;
  AccessLogConfig access_log;
  IdentityHeadersConfig identity_headers;
  KeysConfig keys;
  CacheConfig cache;
  StoreConfig store;
  RateLimitConfig rate_limits;
  UsageConfig usage;
  ReadinessConfig readiness;

  const UpstreamConfig* find_upstream(const std::string& name) const;
  const RateLimitPolicyConfig* find_policy(const std::string& name) const;
  const PlanConfig* find_plan(const std::string& name) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace keygate::conf
