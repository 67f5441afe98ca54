//go:build deps

package main

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/labstack/echo/v4"
	_ "github.com/yalue/onnxruntime_go"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/image/webp"
	_ "google.golang.org/protobuf/proto"
	_ "gorm.io/driver/postgres"
	_ "gorm.io/driver/sqlite"
	_ "gorm.io/gorm"
)
