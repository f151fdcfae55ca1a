#pragma once
// JSON-lines logging: one object per line,
//   {"ts":"2026-11-22T10:00:00.123Z","level":"info","msg":"...","tenant_id":"t1","latency_ms":3}
// A global logger, thread-safe; a call below the level costs one atomic load and formats nothing.
// Fields whose key names a secret (password, token, secret, authorization, ..._token, ...) are
// written as "[REDACTED]", and config rendering masks secrets with redact(), so neither reaches
// a log line by accident.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace beamline::app
{

/// "***" for a set secret, "" for an unset one: the operator sees whether it is set, never what.
std::string redact(std::string_view secret);

/// Hides the password (or token) in the user-info part of a URL: `nats://u:***@h:4222`.
std::string redact_url_credentials(std::string_view url);

namespace log
{

enum class level : int
{
    debug = 0,
    info = 1,
    warn = 2,
    error = 3,
};

std::optional<level> parse_level(std::string_view name);
std::string_view to_string(level l) noexcept;

/// One extra key of a line. Holds views: build fields in the call, as in
/// `log::info("decided", {{"tenant_id", t}, {"latency_ms", 3}})`.
class field
{
public:
    enum class kind
    {
        text,
        signed_number,
        unsigned_number,
        real,
        boolean,
    };

    field(std::string_view key, std::string_view value) noexcept : key_(key), kind_(kind::text), text_(value)
    {
    }
    field(std::string_view key, const char* value) noexcept : field(key, std::string_view(value)) {}
    field(std::string_view key, const std::string& value) noexcept : field(key, std::string_view(value)) {}
    field(std::string_view key, bool value) noexcept : key_(key), kind_(kind::boolean), unsigned_(value) {}
    template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_signed_v<T>)
        field(std::string_view key, T value)
    noexcept : key_(key), kind_(kind::signed_number), signed_(value) {}
    template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_unsigned_v<T>)
        field(std::string_view key, T value)
    noexcept : key_(key), kind_(kind::unsigned_number), unsigned_(value) {}
    template <class T>
    requires std::is_floating_point_v<T> field(std::string_view key, T value)
    noexcept : key_(key), kind_(kind::real), real_(static_cast<double>(value)) {}

    std::string_view key() const noexcept { return key_; }
    kind type() const noexcept { return kind_; }
    std::string_view text() const noexcept { return text_; }
    std::int64_t signed_number() const noexcept { return signed_; }
    std::uint64_t unsigned_number() const noexcept { return unsigned_; }
    double real() const noexcept { return real_; }

private:
    std::string_view key_;
    kind kind_;
    std::string_view text_;
    std::int64_t signed_ = 0;
    std::uint64_t unsigned_ = 0;
    double real_ = 0;
};

using fields = std::initializer_list<field>;

/// True when a field with this key must never show its value (case-insensitive).
bool is_secret_key(std::string_view key) noexcept;

/// Appends one JSON line (with '\n') to `out`. Strings are escaped; invalid UTF-8 becomes U+FFFD
/// so every line parses; NaN and infinities become null.
void format_line(std::string& out, std::chrono::system_clock::time_point ts, level l, std::string_view msg,
                 fields extra);

class logger
{
public:
    logger() = default;
    ~logger();
    logger(const logger&) = delete;
    logger& operator=(const logger&) = delete;

    /// "stderr" (the default) or a file path, opened for appending and created 0640 if missing.
    std::error_code open(const std::string& destination);
    /// Opens the same path again, so a rotated file is replaced by a new one (call on SIGHUP).
    std::error_code reopen();

    void set_level(level l) noexcept { min_level_.store(static_cast<int>(l), std::memory_order_relaxed); }
    level min_level() const noexcept
    {
        return static_cast<level>(min_level_.load(std::memory_order_relaxed));
    }
    bool enabled(level l) const noexcept
    {
        return static_cast<int>(l) >= min_level_.load(std::memory_order_relaxed);
    }

    /// Formats and writes one line if `l` passes the level; one write(2) per line, so lines of
    /// several threads or processes appending to the same file never interleave.
    void write(level l, std::string_view msg, fields extra);

private:
    std::atomic<int> min_level_{static_cast<int>(level::info)};
    std::mutex mutex_; // guards fd_ and destination_ against a concurrent open/reopen
    int fd_ = 2;
    std::string destination_ = "stderr";
};

/// The process-wide logger used by the functions below.
logger& global();

/// Sets the level and destination of `target` from the `[log]` configuration values; an
/// unknown level is invalid_argument, an unopenable file the error of open(2).
std::error_code configure(logger& target, std::string_view level_name, const std::string& destination);

inline void debug(std::string_view msg, fields extra = {})
{
    if (global().enabled(level::debug)) global().write(level::debug, msg, extra);
}
inline void info(std::string_view msg, fields extra = {})
{
    if (global().enabled(level::info)) global().write(level::info, msg, extra);
}
inline void warn(std::string_view msg, fields extra = {})
{
    if (global().enabled(level::warn)) global().write(level::warn, msg, extra);
}
inline void error(std::string_view msg, fields extra = {})
{
    if (global().enabled(level::error)) global().write(level::error, msg, extra);
}

} // namespace log
} // namespace beamline::app
