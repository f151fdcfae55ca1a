#pragma once
// What a route handler sees and returns: a view of one parsed request and a plain response value.
// Transport details (Beast messages, keep-alive, Content-Length) stay inside the server.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beamline::http
{

using verb = boost::beast::http::verb;
using status = boost::beast::http::status;
using header_fields = boost::beast::http::fields;

/// One request. The views point into the connection's buffers and stay valid until the handler's
/// response has been produced, including across co_await in a coroutine handler.
struct request
{
    verb method = verb::get;
    std::string_view target;                                      ///< as received: path and query
    std::string_view path;                                        ///< percent-encoded, as received
    std::string_view query;                                       ///< without the '?', percent-encoded
    std::vector<std::pair<std::string_view, std::string>> params; ///< path parameters, decoded
    const header_fields* headers = nullptr;
    std::string_view body;

    /// The decoded path parameter `{name}`, empty when the route has none of that name.
    std::string_view param(std::string_view name) const;
    /// A header value (case-insensitive name), empty when absent.
    std::string_view header(std::string_view name) const;
    /// The first query parameter `name`, decoded ('+' is a space); nullopt when absent or malformed.
    std::optional<std::string> query_param(std::string_view name) const;
};

struct response
{
    http::status status = status::ok;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; ///< extra headers
};

response json_response(http::status code, std::string body);
response text_response(http::status code, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");

/// `{"error":{"code":"...","message":"..."}}`, the body of every error the server produces.
response error_response(http::status code, std::string_view error_code, std::string_view message);

/// The error code the server uses for `code` (e.g. 404 → "not_found").
std::string_view default_error_code(http::status code) noexcept;

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`); nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space = false);

} // namespace beamline::http
