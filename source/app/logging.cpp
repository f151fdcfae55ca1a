#include "beamline/app/logging.hpp"

#include "beamline/app/text.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
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

using text::iequals;

bool iends_with(std::string_view s, std::string_view suffix)
{
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s)
{
    const auto b0 = static_cast<unsigned char>(s[0]);
    std::size_t len = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if (b0 < 0x80) return 1;
    if ((b0 & 0xE0) == 0xC0)
        len = 2, min = 0x80, cp = b0 & 0x1F;
    else if ((b0 & 0xF0) == 0xE0)
        len = 3, min = 0x800, cp = b0 & 0x0F;
    else if ((b0 & 0xF8) == 0xF0)
        len = 4, min = 0x10000, cp = b0 & 0x07;
    else
        return 0;
    if (s.size() < len) return 0;
    for (std::size_t i = 1; i < len; ++i)
    {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

void append_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    while (!s.empty())
    {
        const auto c = static_cast<unsigned char>(s[0]);
        switch (c)
        {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (c < 0x20 || c == 0x7F)
            {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
            }
            else if (c < 0x80)
                out += static_cast<char>(c);
            else if (const std::size_t len = utf8_sequence(s); len != 0)
            {
                out.append(s.substr(0, len));
                s.remove_prefix(len - 1);
            }
            else
                out += "\\ufffd";
        }
        s.remove_prefix(1);
    }
    out += '"';
}

template <class T>
void append_number(std::string& out, T value)
{
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    if (ec == std::errc{})
        out.append(buf, end);
    else
        out += "null";
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
    append_string(out, msg);
    for (const field& f : extra)
    {
        out += ',';
        append_string(out, f.key());
        out += ':';
        if (is_secret_key(f.key()))
        {
            out += "\"[REDACTED]\"";
            continue;
        }
        switch (f.type())
        {
        case field::kind::text:
            append_string(out, f.text());
            break;
        case field::kind::signed_number:
            append_number(out, f.signed_number());
            break;
        case field::kind::unsigned_number:
            append_number(out, f.unsigned_number());
            break;
        case field::kind::boolean:
            out += f.unsigned_number() ? "true" : "false";
            break;
        case field::kind::real:
            if (std::isfinite(f.real()))
                append_number(out, f.real());
            else
                out += "null";
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
