<?php
// Peer: PHP's built-in web server (`php -S`, Debian php-cli), its defaults: one process,
// one request at a time (PHP_CLI_SERVER_WORKERS unset), so /sleep holds up everyone.
// Usage: php peers/php-builtin/server.php PORT   (or $PORT)
// Run from the command line, this file execs `php -S 127.0.0.1:PORT` with itself as the
// router script, which then runs for every request (php_sapi_name() is 'cli-server').

if (php_sapi_name() === 'cli-server') {
    $fixtures = __DIR__ . '/../../fixtures';
    $sleep = (float) (getenv('SLEEP_SECS') === false ? '1' : getenv('SLEEP_SECS'));
    $get = in_array($_SERVER['REQUEST_METHOD'], ['GET', 'HEAD'], true); // PHP drops HEAD bodies
    $uri = $_SERVER['REQUEST_URI'];
    header('Content-Type: text/html');
    if ($get && $uri === '/') {
        readfile("$fixtures/hello.html");
    } elseif ($get && $uri === '/sleep') {
        usleep((int) ($sleep * 1e6));
        readfile("$fixtures/hello.html");
    } else {
        http_response_code(404);
        readfile("$fixtures/404.html");
    }
    return;
}

$port = $argv[1] ?? getenv('PORT');
// This process becomes the server (exec, same pid, so signals reach it); a forked child
// waits until the port accepts a connection, prints the one line and exits.
if (pcntl_fork() === 0) {
    for ($i = 0; $i < 1000; $i++) {
        $probe = @fsockopen('127.0.0.1', (int) $port, $errno, $errstr, 1.0);
        if ($probe !== false) {
            fclose($probe);
            echo "listening on http://127.0.0.1:$port\n";
            flush();
            exit(0);
        }
        usleep(10000);
    }
    exit(1);
}
pcntl_exec(PHP_BINARY, ['-S', "127.0.0.1:$port", __FILE__]);
exit(1); // only if exec failed
