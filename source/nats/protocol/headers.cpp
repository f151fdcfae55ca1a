#include "beamline/nats/protocol/headers.hpp"

#include "beamline/nats/error.hpp"

#include <algorithm>

namespace beamline::nats
{
namespace
{

constexpr std::string_view version_line = "NATS/1.0";

std::string sanitize_value(std::string_view v)
{
    std::string s(v);
    std::replace_if(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
    return s;
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/// Splits the next CRLF-terminated line off `rest`; false when there is no CRLF.
bool next_line(std::string_view& rest, std::string_view& line) noexcept
{
    auto pos = rest.find("\r\n");
    if (pos == std::string_view::npos) return false;
    line = rest.substr(0, pos);
    rest.remove_prefix(pos + 2);
    return true;
}

/// Parses `NATS/1.0[ status[ description]]`; returns false when the prefix is wrong.
bool parse_status_line(std::string_view line, int& status, std::string_view& description) noexcept
{
    if (line.substr(0, version_line.size()) != version_line) return false;
    std::string_view rest = trim(line.substr(version_line.size()));
    status = 0;
    description = {};
    if (rest.empty()) return true;
    if (rest.size() < 3) return false;
    int code = 0;
    for (int i = 0; i < 3; ++i)
    {
        char c = rest[static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') return false;
        code = code * 10 + (c - '0');
    }
    if (rest.size() > 3 && rest[3] != ' ' && rest[3] != '\t') return false;
    status = code;
    description = trim(rest.substr(3));
    return true;
}

} // namespace

bool valid_header_key(std::string_view key) noexcept
{
    if (key.empty()) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u >= 33 && u <= 126 && c != ':';
    });
}

headers& headers::add(std::string_view key, std::string_view value)
{
    fields_.emplace_back(std::string(key), sanitize_value(value));
    return *this;
}

headers& headers::set(std::string_view key, std::string_view value)
{
    erase(key);
    return add(key, value);
}

void headers::erase(std::string_view key)
{
    std::erase_if(fields_, [&](const field& f) { return f.first == key; });
}

std::optional<std::string_view> headers::get(std::string_view key) const& noexcept
{
    for (const auto& f : fields_)
        if (f.first == key) return std::string_view(f.second);
    return std::nullopt;
}

std::vector<std::string_view> headers::values(std::string_view key) const&
{
    std::vector<std::string_view> out;
    for (const auto& f : fields_)
        if (f.first == key) out.emplace_back(f.second);
    return out;
}

void headers::set_status(int status, std::string_view description)
{
    status_ = status;
    description_ = sanitize_value(description);
}

std::size_t headers::encoded_size() const noexcept
{
    std::size_t n = version_line.size() + 2 + 2;
    if (status_ != 0) n += 4 + (description_.empty() ? 0 : 1 + description_.size());
    for (const auto& f : fields_)
        n += f.first.size() + 2 + f.second.size() + 2;
    return n;
}

void headers::encode(std::string& out) const
{
    out.reserve(out.size() + encoded_size());
    out.append(version_line);
    if (status_ != 0)
    {
        char code[4] = {static_cast<char>('0' + status_ / 100 % 10), static_cast<char>('0' + status_ / 10 % 10),
                        static_cast<char>('0' + status_ % 10), 0};
        out.push_back(' ');
        out.append(code, 3);
        if (!description_.empty())
        {
            out.push_back(' ');
            out.append(description_);
        }
    }
    out.append("\r\n");
    for (const auto& f : fields_)
    {
        out.append(f.first);
        out.append(": ");
        out.append(f.second);
        out.append("\r\n");
    }
    out.append("\r\n");
}

std::error_code headers::parse(std::string_view block, headers& out)
{
    out = headers{};
    std::string_view rest = block;
    std::string_view line;
    if (!next_line(rest, line)) return errc::invalid_headers;
    std::string_view description;
    if (!parse_status_line(line, out.status_, description)) return errc::invalid_headers;
    out.description_ = std::string(description);
    for (;;)
    {
        if (!next_line(rest, line)) return errc::invalid_headers; // no terminating blank line
        if (line.empty()) break;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) return errc::invalid_headers;
        std::string_view key = line.substr(0, colon);
        if (!valid_header_key(key)) return errc::invalid_header_key;
        out.fields_.emplace_back(std::string(key), std::string(trim(line.substr(colon + 1))));
    }
    if (!rest.empty()) return errc::invalid_headers;
    return {};
}

std::optional<std::string_view> find_header(std::string_view block, std::string_view key) noexcept
{
    std::string_view rest = block;
    std::string_view line;
    if (!next_line(rest, line)) return std::nullopt;
    while (next_line(rest, line) && !line.empty())
    {
        auto colon = line.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        if (line.substr(0, colon) == key) return trim(line.substr(colon + 1));
    }
    return std::nullopt;
}

int header_status(std::string_view block) noexcept
{
    std::string_view rest = block;
    std::string_view line;
    if (!next_line(rest, line)) return 0;
    int status = 0;
    std::string_view description;
    return parse_status_line(line, status, description) ? status : 0;
}

} // namespace beamline::nats
