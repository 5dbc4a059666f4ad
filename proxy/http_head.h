// Message heads written as one contiguous string, for the exchanges that leave in a single
// write: a request without a body, a response whose whole body is already here
// (append_forwarded_response_head, header_rewrite.h), keygate's own answers. Beast's serializer
// gathers one buffer per field through a generic buffer view, which for small messages costs more
// than the bytes themselves. The bytes are the same as Beast's: the start line, each field as
// stored, and the blank line.
#pragma once

#include <string>
#include <string_view>

#include "proxy/http_fields.h"

namespace keygate::proxy {

namespace http = boost::beast::http;

// "METHOD target HTTP/1.1", the fields, the blank line.
void append_request_head(std::string& out, std::string_view method, std::string_view target,
                         const Fields& fields);

// "HTTP/1.x status reason\r\n" alone, for heads built field by field.
void append_status_line(std::string& out, unsigned version, unsigned status,
                        std::string_view reason);

// "Name: value\r\n".
void append_field(std::string& out, std::string_view name, std::string_view value);

}  // namespace keygate::proxy
