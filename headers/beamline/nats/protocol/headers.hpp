#pragma once
// NATS message headers (ADR-4): `NATS/1.0[ <status>[ <description>]]\r\n(Key: Value\r\n)*\r\n`.
// Keys keep their case and are looked up case-sensitively; a key may appear several times.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace beamline::nats
{

class headers
{
public:
    using field = std::pair<std::string, std::string>;

    headers() = default;

    /// Adds a value (a key may have several). Values have CR and LF replaced by spaces.
    headers& add(std::string_view key, std::string_view value);
    /// Replaces every value of `key` with one.
    headers& set(std::string_view key, std::string_view value);
    void erase(std::string_view key);

    /// First value of `key`, if any. The views point into this object, so neither may be asked
    /// of a temporary (`msg.parsed_headers().values(k)` would dangle: it does not compile).
    std::optional<std::string_view> get(std::string_view key) const& noexcept;
    std::optional<std::string_view> get(std::string_view key) const&& = delete;
    std::vector<std::string_view> values(std::string_view key) const&;
    std::vector<std::string_view> values(std::string_view key) const&& = delete;

    const std::vector<field>& fields() const noexcept { return fields_; }
    bool empty() const noexcept { return fields_.empty() && status_ == 0; }

    /// The status lifted from the first line (503 no responders, 404, 408, 409, 100), 0 if none.
    int status() const noexcept { return status_; }
    std::string_view description() const noexcept { return description_; }
    void set_status(int status, std::string_view description = {});

    /// Appends the wire block, ending with the blank line.
    void encode(std::string& out) const;
    std::size_t encoded_size() const noexcept;

    /// Parses a wire block. Fails on a missing `NATS/1.0` prefix, a missing blank line, a line with
    /// no colon or an invalid key.
    static std::error_code parse(std::string_view block, headers& out);

private:
    std::vector<field> fields_;
    int status_ = 0;
    std::string description_;
};

/// Is `key` a valid header name: printable ASCII 33..126 except ':'.
bool valid_header_key(std::string_view key) noexcept;

/// Finds the first value of `key` in a wire block without allocating; for hot paths that need one
/// or two headers of a message.
std::optional<std::string_view> find_header(std::string_view block, std::string_view key) noexcept;

/// The status of a wire block's first line (0 if none) without allocating.
int header_status(std::string_view block) noexcept;

} // namespace beamline::nats
