#pragma once
// Maps (method, path pattern) to handlers. Patterns are literal segments and `{name}` parameters:
// `/v1/policies/{tenant}/{policy}`. A path no pattern matches is 404; a path some pattern matches
// with another method is 405 with an `Allow` header; HEAD is served by the GET handler without body.

#include "beamline/http/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace beamline::http
{

/// A handler may suspend (hop to a tenant's strand and back); the request stays valid meanwhile.
using handler = std::function<boost::asio::awaitable<response>(const request&)>;
/// A handler that answers at once.
using sync_handler = std::function<response(const request&)>;

/// Adapts a synchronous handler to the coroutine signature.
handler make_handler(sync_handler h);

class route_table
{
public:
    /// Throws std::invalid_argument for a pattern that does not start with '/', has an empty or
    /// unterminated `{}` segment, or repeats a parameter name; and for a duplicate (method, pattern).
    void add(verb method, std::string_view pattern, handler h);
    void add(verb method, std::string_view pattern, sync_handler h)
    {
        add(method, pattern, make_handler(std::move(h)));
    }

    /// The route for a request: the handler and its decoded parameters.
    struct match
    {
        const http::handler* handler = nullptr;
        std::vector<std::pair<std::string_view, std::string>> params; ///< names point into the table
        bool head_as_get = false; ///< a HEAD answered by the GET route (sent without its body)
    };

    /// Resolves `path` (percent-encoded, no query) for `method`: a match, or the error response to
    /// send (404, 405 with Allow, 400 for a malformed escape in a parameter).
    std::variant<match, response> resolve(verb method, std::string_view path) const;

private:
    struct segment
    {
        std::string text;
        bool is_param = false;
    };
    struct route
    {
        verb method;
        std::string pattern;
        std::vector<segment> segments;
        std::size_t literal_count = 0;
        http::handler handler;
    };

    std::vector<route> routes_;
};

} // namespace beamline::http
