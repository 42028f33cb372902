// libcurl from the system (Debian: libcurl4-openssl-dev), found through pkg-config, so that a machine without its
// headers gets SwiftPM's install hint instead of "curl/curl.h: file not found" deep in the build.
#include <curl/curl.h>
