// Peer: the JDK's com.sun.net.httpserver.HttpServer with a cached thread pool, defaults otherwise.
// Usage: java -cp peers/java-httpserver/classes Server PORT   (or $PORT), after
//        javac -d peers/java-httpserver/classes peers/java-httpserver/Server.java
//        (ci/install-peers.sh compiles it: a JVM compiling its source at every start is slow)
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;

public class Server {
    public static void main(String[] args) throws Exception {
        // The pages are found from any directory: the class lives in peers/java-httpserver/classes.
        Path classes = Path.of(Server.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path fixtures = classes.resolve("../../../fixtures").normalize();
        byte[] hello = Files.readAllBytes(fixtures.resolve("hello.html"));
        byte[] notFound = Files.readAllBytes(fixtures.resolve("404.html"));
        long sleepMs = (long) (Double.parseDouble(System.getenv().getOrDefault("SLEEP_SECS", "1")) * 1000);
        int port = Integer.parseInt(args.length > 0 ? args[0] : System.getenv("PORT"));

        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        // "/" is a prefix context: it gets every path the other contexts do not match.
        server.createContext("/", ex -> {
            boolean get = ex.getRequestMethod().equals("GET") || ex.getRequestMethod().equals("HEAD");
            String path = ex.getRequestURI().getRawPath();
            if (get && path.equals("/")) {
                send(ex, 200, hello);
            } else if (get && path.equals("/sleep")) {
                try {
                    Thread.sleep(sleepMs); // one pool thread per request
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                send(ex, 200, hello);
            } else {
                send(ex, 404, notFound);
            }
        });
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
        System.out.println("listening on http://127.0.0.1:" + server.getAddress().getPort());
    }

    static void send(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/html");
        boolean head = ex.getRequestMethod().equals("HEAD");
        // HEAD: -1 means no body; the JDK then sends Content-Length: 0 unless told otherwise.
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
        ex.close();
    }
}
