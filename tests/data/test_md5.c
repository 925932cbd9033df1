/* MD5 against the test suite of RFC 1321 (appendix A.5), lengths around
 * the 56- and 64-byte padding boundaries, a million bytes, and the
 * streaming interface fed in uneven pieces. */
#include <stdlib.h>
#include <string.h>

#include "md5.h"
#include "resnet/data.h"
#include "test_support.h"

static void check_md5(const char *input, size_t size, const char *expect)
{
    char got[33];
    rt_md5_hex(input, size, got);
    CHECKF(strcmp(got, expect) == 0, "MD5 of %zu bytes \"%.20s\": got %s, expected %s", size,
           input, got, expect);
}

int main(void)
{
    /* RFC 1321, A.5 */
    static const struct {
        const char *input, *md5;
    } rfc[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"1234567890123456789012345678901234567890"
         "1234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++)
        check_md5(rfc[i].input, strlen(rfc[i].input), rfc[i].md5);

    /* runs of 'a' around the padding boundaries (from coreutils md5sum) */
    static const struct {
        size_t n;
        const char *md5;
    } runs[] = {
        {55, "ef1772b6dff9a122358552954ad0df65"},  {56, "3b0c8ac703f828b04c6c197006d17218"},
        {63, "b06521f39153d618550606be297466d5"},  {64, "014842d480b571495a4a0363793f7367"},
        {65, "c743a45e0d2e6a95cb859adae0248435"},  {119, "8a7bd0732ed6a28ce75f6dabc90e1613"},
        {120, "5f61c0ccad4cac44c75ff505e1f1e537"}, {128, "e510683b3f5ffe4093d021808bc6ff70"},
        {1000000, "7707d6ae4e027c70eea2a935c2296f21"},
    };
    char *a = malloc(1000000);
    CHECK(a != NULL);
    if (!a)
        return rt_test_finish("test_md5");
    memset(a, 'a', 1000000);
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        check_md5(a, runs[i].n, runs[i].md5);

    /* streaming in pieces of 1, 2, 3, ... bytes gives the one-shot sum */
    for (size_t total = 0; total < 300; total += 7) {
        char one[33], pieces[33];
        for (size_t i = 0; i < total; i++)
            a[i] = (char)(i * 31 + 7);
        rt_md5_hex(a, total, one);
        rt_md5 md5;
        rt_md5_init(&md5);
        size_t done = 0;
        for (size_t step = 1; done < total; step++) {
            size_t take = step < total - done ? step : total - done;
            rt_md5_update(&md5, a + done, take);
            done += take;
        }
        uint8_t digest[16];
        rt_md5_final(&md5, digest);
        rt_md5_digest_hex(digest, pieces);
        CHECKF(strcmp(one, pieces) == 0, "%zu bytes: streamed %s, one-shot %s", total, pieces,
               one);
    }
    free(a);
    return rt_test_finish("test_md5");
}
