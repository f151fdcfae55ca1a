#pragma once
// A small blocking HTTP/1.1 client for the CLI verbs that talk to a running daemon (ping, status,
// policy). Not for the daemon itself.

#include <chrono>
#include <string>

namespace beamline::app
{

struct http_reply
{
    int status = 0;    ///< 0 when no answer came
    std::string body;
    std::string error; ///< why no answer came
};

http_reply http_call(const std::string& host, unsigned short port, const std::string& method, const std::string& target,
                     const std::string& body = {}, const std::string& bearer_token = {},
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

} // namespace beamline::app
