/* The status table of fastdiff.h as arrays, so that Python can mirror and test it. */
#include "fastdiff.h"

#define FD_STATUS_CODE(name, code, msg) code,
#define FD_STATUS_NAME(name, code, msg) #name,
#define FD_STATUS_MSG(name, code, msg) msg,

const int fd_status_codes[] = {FD_STATUS_TABLE(FD_STATUS_CODE)};
const char *const fd_status_names[] = {FD_STATUS_TABLE(FD_STATUS_NAME)};
const char *const fd_status_messages[] = {FD_STATUS_TABLE(FD_STATUS_MSG)};
