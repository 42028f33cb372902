#ifndef CAPMCURL_H
#define CAPMCURL_H

#include <stddef.h>

/// How a mail is protected: 0 plain, 1 STARTTLS when the server offers it, 2 STARTTLS required (or smtps://).
/// Returns 0 when the server accepted the message, else libcurl's error code with its words in `error`
/// (at least 256 bytes). `response` gets the server's last reply code.
int apm_smtp_send(const char *url, const char *username, const char *password, int tls, const char *from,
                  const char *const *recipients, int recipient_count, const char *message, size_t message_length,
                  long timeout_seconds, int verify_peer, char *error, long *response);

#endif
