// Peer: Go's net/http (stdlib only), default http.Server and ServeMux.
// Usage: go run peers/go-net-http/main.go PORT   (or build: go build -o peers/go-net-http/server peers/go-net-http/main.go)
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

func main() {
	// The pages are found from any directory: next to the built binary, else next to this
	// source file (go run builds in a temporary directory).
	fixtures := "fixtures"
	if exe, err := os.Executable(); err == nil {
		fixtures = filepath.Join(filepath.Dir(exe), "..", "..", "fixtures")
	}
	if _, err := os.Stat(fixtures); err != nil {
		_, self, _, _ := runtime.Caller(0)
		fixtures = filepath.Join(filepath.Dir(self), "..", "..", "fixtures")
	}
	hello, err := os.ReadFile(filepath.Join(fixtures, "hello.html"))
	if err != nil {
		log.Fatal(err)
	}
	notFound, err := os.ReadFile(filepath.Join(fixtures, "404.html"))
	if err != nil {
		log.Fatal(err)
	}
	sleep := 1.0
	if s := os.Getenv("SLEEP_SECS"); s != "" {
		if sleep, err = strconv.ParseFloat(s, 64); err != nil {
			log.Fatal(err)
		}
	}
	port := os.Getenv("PORT")
	if len(os.Args) > 1 {
		port = os.Args[1]
	}

	page := func(w http.ResponseWriter, status int, body []byte) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		w.Write(body) // net/http drops the body for HEAD
	}
	mux := http.NewServeMux()
	// "/" is ServeMux's catch-all pattern, so the handler tells / from other paths.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || (r.Method != "GET" && r.Method != "HEAD") {
			page(w, http.StatusNotFound, notFound)
			return
		}
		page(w, http.StatusOK, hello)
	})
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" && r.Method != "HEAD" {
			page(w, http.StatusNotFound, notFound)
			return
		}
		time.Sleep(time.Duration(sleep * float64(time.Second))) // one goroutine per connection
		page(w, http.StatusOK, hello)
	})

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, mux))
}
