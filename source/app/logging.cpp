#include "beamline/app/logging.hpp"

#include "beamline/app/text.hpp"
#include "beamline/common/json_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

namespace beamline::app
{

std::string redact(std::string_view secret)
{
    return secret.empty() ? std::string() : std::string("***");
}

std::string redact_url_credentials(std::string_view url)
{
    const auto scheme_end = url.find("://");
    const std::size_t authority = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    const auto path = url.find('/', authority);
    const auto at = url.substr(0, path).rfind('@');
    if (at == std::string_view::npos || at < authority) return std::string(url);
    const auto userinfo = url.substr(authority, at - authority);
    const auto colon = userinfo.find(':');
    // Without a colon the whole user-info is a token.
    const std::string shown =
        colon == std::string_view::npos ? "***" : std::string(userinfo.substr(0, colon)) + ":***";
    return std::string(url.substr(0, authority)) + shown + std::string(url.substr(at));
}

namespace log
{
namespace
{

using common::append_json_string;
using text::iequals;

bool iends_with(std::string_view s, std::string_view suffix)
{
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

void append_timestamp(std::string& out, std::chrono::system_clock::time_point ts)
{
    using std::chrono::milliseconds;
    const auto total_ms = std::chrono::floor<milliseconds>(ts.time_since_epoch()).count();
    const std::time_t whole_seconds =
        static_cast<std::time_t>(total_ms >= 0 ? total_ms / 1000 : (total_ms - 999) / 1000);
    const auto millis = static_cast<int>(total_ms - static_cast<std::int64_t>(whole_seconds) * 1000);
    std::tm utc{};
    gmtime_r(&whole_seconds, &utc);
    char buf[40];
    const int n =
        std::snprintf(buf, sizeof buf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", utc.tm_year + 1900,
                      utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
    out.append(buf, static_cast<std::size_t>(n));
}

int open_append(const std::string& path)
{
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

} // namespace

std::optional<level> parse_level(std::string_view name)
{
    if (name == "debug") return level::debug;
    if (name == "info") return level::info;
    if (name == "warn") return level::warn;
    if (name == "error") return level::error;
    return std::nullopt;
}

std::string_view to_string(level l) noexcept
{
    switch (l)
    {
    case level::debug:
        return "debug";
    case level::info:
        return "info";
    case level::warn:
        return "warn";
    case level::error:
        return "error";
    }
    return "info";
}

bool is_secret_key(std::string_view key) noexcept
{
    for (std::string_view word : {"password", "token", "secret", "authorization", "api_key", "credentials"})
        if (iequals(key, word) ||
            (key.size() > word.size() && iends_with(key, word) &&
             (key[key.size() - word.size() - 1] == '_' || key[key.size() - word.size() - 1] == '-')))
            return true;
    return false;
}

void format_line(std::string& out, std::chrono::system_clock::time_point ts, level l, std::string_view msg,
                 fields extra)
{
    out += "{\"ts\":";
    append_timestamp(out, ts);
    out += ",\"level\":\"";
    out += to_string(l);
    out += "\",\"msg\":";
    append_json_string(out, msg);
    for (const field& f : extra)
    {
        out += ',';
        append_json_string(out, f.key());
        out += ':';
        if (is_secret_key(f.key()))
        {
            out += "\"[REDACTED]\"";
            continue;
        }
        switch (f.type())
        {
        case field::kind::text:
            append_json_string(out, f.text());
            break;
        case field::kind::signed_number:
            common::append_json_integer(out, f.signed_number());
            break;
        case field::kind::unsigned_number:
            common::append_json_integer(out, f.unsigned_number());
            break;
        case field::kind::boolean:
            out += f.unsigned_number() ? "true" : "false";
            break;
        case field::kind::real:
            common::append_json_number(out, f.real());
            break;
        }
    }
    out += "}\n";
}

logger::~logger()
{
    if (fd_ > 2) ::close(fd_);
}

std::error_code logger::open(const std::string& destination)
{
    int fd = 2;
    if (destination != "stderr")
    {
        fd = open_append(destination);
        if (fd < 0) return {errno, std::generic_category()};
    }
    std::lock_guard lock(mutex_);
    if (fd_ > 2) ::close(fd_);
    fd_ = fd;
    destination_ = destination;
    return {};
}

std::error_code logger::reopen()
{
    std::string destination;
    {
        std::lock_guard lock(mutex_);
        destination = destination_;
    }
    return open(destination);
}

void logger::write(level l, std::string_view msg, fields extra)
{
    if (!enabled(l)) return;
    thread_local std::string line;
    line.clear();
    format_line(line, std::chrono::system_clock::now(), l, msg, extra);
    std::lock_guard lock(mutex_);
    std::string_view rest = line;
    while (!rest.empty())
    {
        const ssize_t n = ::write(fd_, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return; // nowhere left to report a failing log; dropping the line beats blocking
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::error_code configure(logger& target, std::string_view level_name, const std::string& destination)
{
    const auto l = parse_level(level_name);
    if (!l) return std::make_error_code(std::errc::invalid_argument);
    if (auto ec = target.open(destination)) return ec;
    target.set_level(*l);
    return {};
}

logger& global()
{
    static logger instance;
    return instance;
}

} // namespace log
} // namespace beamline::app
