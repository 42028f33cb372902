// libcurl's SMTP client behind one plain C function: curl_easy_setopt is variadic, which Swift cannot call.
#include "CAPMCurl.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

typedef struct {
    const char *data;
    size_t length;
    size_t offset;
} apm_upload;

static size_t apm_read(char *buffer, size_t size, size_t count, void *user) {
    apm_upload *upload = (apm_upload *)user;
    size_t room = size * count;
    size_t left = upload->length - upload->offset;
    size_t chunk = left < room ? left : room;
    memcpy(buffer, upload->data + upload->offset, chunk);
    upload->offset += chunk;
    return chunk;
}

static pthread_once_t apm_curl_once = PTHREAD_ONCE_INIT;
static void apm_curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int apm_smtp_send(const char *url, const char *username, const char *password, int tls, const char *from,
                  const char *const *recipients, int recipient_count, const char *message, size_t message_length,
                  long timeout_seconds, int verify_peer, char *error, long *response) {
    pthread_once(&apm_curl_once, apm_curl_init);
    error[0] = 0;
    *response = 0;
    CURL *curl = curl_easy_init();
    if (!curl) {
        strncpy(error, "libcurl could not start", CURL_ERROR_SIZE - 1);
        return CURLE_FAILED_INIT;
    }
    struct curl_slist *list = NULL;
    for (int index = 0; index < recipient_count; index++) list = curl_slist_append(list, recipients[index]);
    apm_upload upload = {message, message_length, 0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (username && username[0]) curl_easy_setopt(curl, CURLOPT_USERNAME, username);
    if (password && password[0]) curl_easy_setopt(curl, CURLOPT_PASSWORD, password);
    curl_easy_setopt(curl, CURLOPT_USE_SSL, tls == 2 ? (long)CURLUSESSL_ALL : tls == 1 ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_NONE);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, verify_peer ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, verify_peer ? 2L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, list);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, apm_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, response);
    if (code != CURLE_OK && error[0] == 0) strncpy(error, curl_easy_strerror(code), CURL_ERROR_SIZE - 1);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return (int)code;
}
